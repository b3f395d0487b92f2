"""Outputs: events leave the Pi for MQTT (with Home Assistant discovery), notifications
(Apprise) and webhooks, all off until configured (docs/integrations.md).

The analysis worker records what each output is owed in its own transaction
(``outbox.py``); the deliverer (``delivery.py``) makes the deliveries after the commit,
one lane per output (``mqtt.py``, ``webhook.py``, ``notify.py``), and keeps each output's
state for the devices page and /healthz (``status.py``). What is sent is decided by pure
modules: which outputs exist and what a commit owes them (``catalog.py``), the payloads,
signatures and notification texts (``messages.py``), the topics and Home Assistant's
discovery configs (``discovery.py``).
"""
