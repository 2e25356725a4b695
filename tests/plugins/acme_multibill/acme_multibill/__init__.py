"""Acme's plug-ins for Multibill: the AcmePay gateway, the Acme IoT provisioning adapter, Acme chat, and
Acme TV (a partner content provider)."""
