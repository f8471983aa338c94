"""The delivery engine tried from outside: users acting mid-send, dripping receivers, tenants."""
