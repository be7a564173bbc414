"""trueup: plan and apply the drift of locally installed agent components."""

__version__ = "0.1.0"
