"""``bundler results``: rescore the final submissions, bootstrap intervals and ties, and the results pages."""
