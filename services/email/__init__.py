"""Invitations and the welcome email: tokens, composition, branding, languages, the mailers
(console, SendGrid) and SendGrid's delivery events.

Owns every ``email_status`` change. May import ``platform`` only.
"""
