"""The Beckn / DEG "Connections" face: the utility as a Beckn core 1.1.0 BPP (BECKN-003 async
model, BECKN-006 signatures, the registry's Subscription of our keys)."""
