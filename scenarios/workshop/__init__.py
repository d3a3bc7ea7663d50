"""An instructor's board for a workshop: attendees' lab results (only results) reported to one host.

`board` is the model (who is on which task, for how long), `host` the loopback-first HTTP server that takes
reports, `join` the attendee's side (`sandbox lab join`, a report after each check).
"""
