/** The server's name and version, as XEP-0092 reports them. */
export const SERVER_NAME = 'Cirrus';
export const SERVER_VERSION = '0.1.0';
