"""The insight tables, one module per insight; each is re-exported here for Django."""
