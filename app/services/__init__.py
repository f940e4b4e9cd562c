"""What adaptd does, over a SQLAlchemy session, one module per concept.

One rule for transactions: whoever owns the session commits, once, at the boundary of its unit
of work (a route, a task, one pass of a background loop), after the services it called have
added and flushed their rows. A service does not commit, with two kinds of exception, each a
step whose commit is the point:

- A conditional state change, one `UPDATE ... WHERE <still as I saw it>` whose commit decides
  who won: a job's lease writes (`leases`), a delivery's claim and its outcome
  (`webhook_deliveries`), a retrain's claim and decision (`retrains.claim_finished`,
  `decide`), an Idempotency-Key's reservation, completion and release (`idempotency`), a
  job's publication or hold-back (`dispatch`, `scheduling.hold_back`), the first team
  (`bootstrap`), one batch of a retention sweep (`retention`).
- A write followed by an effect outside the database (`models.delete` removes files): the
  row goes first, so a crash leaves files without a row, which the artifact sweep removes,
  never a row without its files.

The audit log's entry for a write (`app/api/audit_trail.py`) is written in a transaction of its
own, after the write's commit and before the answer's last byte.

So a crash before a boundary's commit leaves nothing of its unit of work, and every crash
window is at one of the steps above, each of which says what it leaves.
"""
