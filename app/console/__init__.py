"""The `marketplace` commands for people who publish and order (login, services, orders,
artifacts): built on app.client alone, so they speak to any server over HTTP."""
