"""Cameras that are pulled instead of pushing: ESPHome's and the stock CameraWebServer's
JPEG snapshots and MJPEG streams (docs/cameras.md).

urls.py checks a pull URL and hides its credentials; mjpeg.py splits a
``multipart/x-mixed-replace`` stream into JPEGs (both pure); camera.py pulls one camera
into the ingest path; runner.py is the supervised part that pulls them all.
"""
