"""The ESPI resources (NAESB REQ.21 ESPI, espi.xsd and customer.xsd; DIGEST §2-§4), one module
each, every one turning our records into an `atom.Entry` whose content elements follow the XSD
sequence order.

`Paths` places the usage resources of one Subscription (one Grant): members and collections under
`Subscription/{subscription_id}/`, the global `ReadingType` and `LocalTimeParameters` under the
resource root, all absolute (`espi.hrefs.resource`). An Atom id is derived from the path without
the `Subscription/{id}` prefix (`espi.hrefs.atom_id`), so it is the same in every authorization
that reads the resource. Links to members are typed `espi-entry/<Name>`, to collections
`espi-feed/<Name>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gridshare.config import Settings
from gridshare.espi import atom, hrefs

SUBSCRIPTION: Final = "Subscription"


@dataclass(frozen=True)
class Paths:
    settings: Settings
    subscription_id: str

    def href(self, path: Sequence[str]) -> str:
        """`{ESPI}/Subscription/{id}/path...`: a resource of this Subscription."""
        return hrefs.resource(self.settings, SUBSCRIPTION, self.subscription_id, *path)

    def global_href(self, path: Sequence[str]) -> str:
        """`{ESPI}/path...`: a resource every Subscription shares (ReadingType, LTP)."""
        return hrefs.resource(self.settings, *path)

    def atom_id(self, path: Sequence[str]) -> str:
        return hrefs.atom_id(self.settings, "/".join(path))

    def member(self, rel: str, path: Sequence[str]) -> atom.Link:
        """A link to this Subscription's member at `path` (its type named by the path's
        second-to-last part, the resource name)."""
        return atom.Link(rel, self.href(path), atom.ENTRY_TYPE.format(path[-2]))

    def collection(self, rel: str, path: Sequence[str]) -> atom.Link:
        """A link to this Subscription's collection at `path` (named by its last part)."""
        return atom.Link(rel, self.href(path), atom.FEED_TYPE.format(path[-1]))

    def global_member(self, rel: str, path: Sequence[str]) -> atom.Link:
        return atom.Link(rel, self.global_href(path), atom.ENTRY_TYPE.format(path[-2]))

    def global_collection(self, rel: str, path: Sequence[str]) -> atom.Link:
        return atom.Link(rel, self.global_href(path), atom.FEED_TYPE.format(path[-1]))
