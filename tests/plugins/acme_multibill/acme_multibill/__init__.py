"""Acme's plug-ins for Multibill: the AcmePay gateway, the Acme IoT provisioning adapter, Acme chat."""
