"""`allocator batch`: an advising office's whole cohort in one run, on Dask.

cohort.py reads the applicants (a folder of TOML profiles or one CSV), task.py is what a
worker does for one applicant, run.py drives the cluster and writes the files, outputs.py
renders summary rows and reports, cohortview.py counts the programs the cohort shares and
lists the applicants most at risk first, workerinit.py is the local workers' preload (they
ignore Ctrl-C: the client handles it).
"""
