"""The Teams app package: manifest template, icons and the builder (``make package``)."""
