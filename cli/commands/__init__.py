"""The commands of `astralytiq`, one module per topic; ``cli.app`` lists them."""
