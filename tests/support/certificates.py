"""The data the e-Evidence certificates' tests set directly (the fields the rules of
mla.instruments.eevidence read), and files a provider produces."""

from mla.instruments import eevidence
from mla.requests.lifecycle.certificates import ProducedFile

# Production of traffic data, ten days, the enforcing authority notified (Art. 8).
EPOC_DATA = {
    "C": {"deadline": eevidence.TEN_DAYS},
    "F": {"data_categories": [eevidence.TRAFFIC]},
    "G": {"offence_in_issuing_state": "yes", "person_resides_in_issuing_state": "no"},
}
# Subscriber data only: no notification (Art. 8(1)).
EPOC_SUBSCRIBER_DATA = {
    "C": {"deadline": eevidence.TEN_DAYS},
    "F": {"data_categories": [eevidence.SUBSCRIBER]},
}
EPOC_EMERGENCY_DATA = {
    "C": {"deadline": eevidence.EIGHT_HOURS, "emergency_grounds": "life"},
    "F": {"data_categories": [eevidence.CONTENT]},
}
EPOC_PR_DATA = {"F": {"data_categories": [eevidence.SUBSCRIBER, eevidence.TRAFFIC]}}

FILES = [
    ProducedFile(name="subscriber.csv", content=b"account,name\nx@example.org,X\n"),
    ProducedFile(name="traffic.json", content=b'{"sessions": []}'),
]
