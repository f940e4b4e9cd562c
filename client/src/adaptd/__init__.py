"""adaptd: adapt pre-trained language models into text classifiers and serve them."""

__version__ = "0.1.0"
