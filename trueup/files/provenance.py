"""`provenance` drift as the ledger records it (unverified, commit-missing): now kept in trueup/provenance/.

The full, offline check (signatures, moved tags, the install bound to the signed tree) is the provenance
provider's; this name stays for the files provider's diff and its tests.
"""

from trueup.provenance.recorded import diff_provenance

__all__ = ["diff_provenance"]
