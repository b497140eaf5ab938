"""One module per check. Each exposes `CHECK`; the order here is the order checks run and report."""

from . import (accreditation, contact, domain, graph, known_sites, lists, marketing, payment, pharmacist, prescription,
               storefront, transport)

ALL_CHECKS = [
    storefront.CHECK,
    prescription.CHECK,
    accreditation.CHECK,
    contact.CHECK,
    pharmacist.CHECK,
    payment.CHECK,
    transport.CHECK,
    domain.CHECK,
    marketing.CHECK,
    known_sites.CHECK,
    lists.CHECK,
    graph.CHECK,
]
