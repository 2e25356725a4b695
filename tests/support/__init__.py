"""Every shared fixture and helper of the test suite, once.

Fixture modules (registered as plugins in tests/conftest.py, so a test just names the fixture):
databases (``database_url``), temporal_envs (``time_skipping_env``, ``own_time_skipping_env``, ``dev_env``),
smtp (``smtp_server``), localstripe (``localstripe``), payment_support (``pay_settings``, ``pay_api``...),
subscription_support (``stack``), onboarding_worker (``onboarding_shop``).

Helpers: factories (organisations, keys, accounts) and the per-area builders (billing_factory,
catalog_factory, device_support, provisioning_factory, usage_factory, wallet_support, plan_specs),
bill runs (billing_runs, demo_billing), workers and servers (swap_worker, worker_process, live_api,
freeradius, nas, migration_db, ports), ``eventually`` for waiting, fake_today for the clock, and
service_markers (the ``radius``, ``stripe``... markers set from the fixtures a test uses).
"""
