"""The `uniload` command line: the parser, its commands and what a person sees on the console."""
