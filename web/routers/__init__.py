"""One module per page (or group of forms), each with its own template."""
