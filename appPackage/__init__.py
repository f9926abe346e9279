"""The Teams app package: manifest template, icons and the builder (`python -m appPackage.build`)."""
