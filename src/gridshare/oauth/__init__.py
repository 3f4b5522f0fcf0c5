"""The OAuth 2.0 face: CDS-WG1-02 Client Registration and the RFCs it builds on."""
