"""AdmissionReview handling: wire parsing (`review`), answers (`responses`, `warnings`), `handler`."""
