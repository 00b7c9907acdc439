"""The `astralytiq` command and `astralytiq up`: entrypoints over the platform's packages."""
