"""One router per area of SPEC §4; each route depends on ``auth.Access``."""
