"""Security proofs: address safety, injection, access route walk and API fuzzing."""
