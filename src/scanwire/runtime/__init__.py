"""The runtime layer shipped inside every generated client (auth, retries, paging, waiting, errors)."""
