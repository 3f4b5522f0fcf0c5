"""Green Button Connect My Data (NAESB REQ.21 ESPI): the Data Custodian face."""
