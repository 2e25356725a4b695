"""An operator's portal branding: reading it (with defaults), changing it, its logo, the portal's operator."""
