"""The demo and its test props: a local PKI and a receiving mail server (needs the test extra).

Nothing in the product imports this package: ``pip install .`` without extras runs
``intake`` without aiosmtpd. ``python -m intake.demo`` runs the demo from a clone.
"""

from intake.demo.run import main

__all__ = ["main"]
