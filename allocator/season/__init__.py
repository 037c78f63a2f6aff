"""The interview-season update (`allocator update`): a season file of answers so far, the
posterior over the applicant's latent strength, the chances now, and the best additional
applications under that posterior."""
