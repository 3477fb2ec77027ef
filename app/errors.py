"""The exception tree. Every message names the file, line, field or request and says what to do.

NetpolGuardError
 +-- RulesFileError      the rules file cannot be read or does not validate (exit 2)
 +-- ManifestError       an input file cannot be read or parsed (exit 2, other files still checked)
 +-- ReviewError         an AdmissionReview is malformed (HTTP-level 400/413 in an AdmissionReview)
 +-- SettingsError       a server flag or environment variable is wrong (exit 2)
 +-- CertificateError    a certificate or key cannot be loaded or does not match (exit 2)
 +-- PolicyShapeError    (app.netpol) an object does not decode as a NetworkPolicy (the API server's 400)
 +-- PolicyTooLargeError (app.limits) an object is over the size limits; denied without being judged
"""


class NetpolGuardError(Exception):
    """Base of every error netpol-guard reports to a user."""


class RulesFileError(NetpolGuardError):
    """The rules file is unreadable or invalid; the message names the file and the key path."""


class ManifestError(NetpolGuardError):
    """An input manifest cannot be read or parsed; the message names the file and line."""


class ReviewError(NetpolGuardError):
    """An AdmissionReview request is malformed.

    ``code`` is the HTTP-like status put in the AdmissionReview's ``response.status`` (400 or 413),
    ``uid`` is the request uid when it could be read, so it is echoed even on errors.
    """

    def __init__(self, message: str, *, code: int = 400, uid: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.uid = uid


class SettingsError(NetpolGuardError):
    """A server setting is invalid."""


class CertificateError(NetpolGuardError):
    """A certificate or key file is missing, unreadable or does not match."""
