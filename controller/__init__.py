"""Huntsman call controller: FreeSWITCH's outbound Event Socket hands it every call.

Run it with ``python -m controller`` (settings from the environment, see
``controller.settings``) or ``controller.main.run(settings)``.

Modules (pure ones import only the standard library and each other):

==================  =====================================================================
``settings``        frozen settings from ``HUNTSMAN_*`` environment variables (pure)
``channel_vars``    every FreeSWITCH variable, header and event name used (pure)
``errors``          one exception root; each error knows its hangup cause (pure)
``esl_frames``      bounded ESL frame reader, split-then-decode headers, sendmsg builder (pure)
``call_context``    channel data -> sanitised call document for planning (pure)
``plan``            plan JSON v1 -> validated dataclasses (pure)
``dialstring``      escaped dial strings per strategy, 128-leg cap (pure)
``bridge_result``   what a bridge did, from its CHANNEL_EXECUTE_COMPLETE (pure)
``cdr_record``      the CDR document for ``cdr.record_call`` (pure)
``esl_connection``  one Event Socket over a gevent socket: replies in order, events out
``call_channel``    the A-leg: commands, completions matched by Application-UUID
``call_handler``    one greenlet per call: plan, steps, defined end, CDR
``server``          gevent StreamServer, connection cap, graceful drain
``device_state``    devices busy/registered from ``show channels|registrations as json`` (pure)
``inbound``         inbound ESL client: registrations, busy state, resync, api/bgapi, reconnect
``db``              the only database module (psycopg pool, deadlines, typed errors)
``cdr_spool``       fsync'd CDR spool and its in-order replayer
``logs``            structlog JSON, call UUID bound per greenlet
``metrics``         Prometheus metrics (own registry)
``main``            process wiring, SIGTERM/SIGINT handling
==================  =====================================================================

This ``__init__`` imports nothing on purpose: entry points must run
``gevent.monkey.patch_all()`` before psycopg is imported (see ``__main__``).
"""
