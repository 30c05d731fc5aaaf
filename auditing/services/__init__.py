"""auditing.services: the audit trail's writes, one module per job.

- record.py: `record`, the one function every app calls to write an audit event (ground, like
  logging: it imports nothing above core), and the chain's lock;
- notify.py: the email about a committed critical event (who gets it is the caller's business);
- export.py: recording that someone exported the trail (the export itself is auditing/exports.py);
- retention.py: purging events past the retention period, leaving a chain anchor;
- erasure.py: pseudonymising a person in every schema's trail.

The names below are the package's interface: `from auditing.services import record`.
"""

from auditing.services.erasure import audit_subject_erase, pseudonym_for
from auditing.services.export import audit_export_record
from auditing.services.notify import critical_event_notify
from auditing.services.record import ACTIONS, SEVERITIES, record
from auditing.services.retention import audit_retention_apply

__all__ = ["ACTIONS", "SEVERITIES", "audit_export_record", "audit_retention_apply", "audit_subject_erase",
           "critical_event_notify", "pseudonym_for", "record"]
