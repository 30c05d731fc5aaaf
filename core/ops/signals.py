"""What operations code tells the apps above it, without importing them.

core imports no app (DESIGN.md, "Layers"), yet a backup is an audited platform event.
The backup sends `backup_finished`; auditing (auditing/apps.py) writes the audit event.
`send` (success) runs the receiver inside the backup's own call, so a failure to audit
a completed backup is an error of the backup; `send_robust` (failure) never hides the
backup's own error behind the auditing one.
"""

from django.dispatch import Signal

# kwargs: action ("backup_completed" | "backup_failed"), details (dict)
backup_finished = Signal()
