"""Limits shared by the client and the server, read from openapi.yaml by
`make generate` (codegen/generate.py, LIMITS). Never edit by hand. Enumerations (loss function
names, image formats, ...) are in their models' `*_VALUES` sets."""

# /components/parameters/CheckpointName/schema/pattern
CHECKPOINT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
"""A checkpoint name: one path segment of letters, digits, '.', '_' and '-'."""

# /components/parameters/Limit/schema/maximum
PAGE_LIMIT_MAX = 1000
"""The largest page (`limit`) a listing endpoint serves."""

# /components/schemas/SaveWeightsRequest/properties/ttl_seconds/minimum
CHECKPOINT_TTL_MIN_S = 3600
"""The shortest checkpoint time to live, in seconds."""

# /components/schemas/SaveWeightsRequest/properties/ttl_seconds/maximum
CHECKPOINT_TTL_MAX_S = 315360000
"""The longest checkpoint time to live, in seconds."""

# /components/schemas/TopkLogprob/x-mask-logprob
TOPK_MASK_LOGPROB = -99999.0
"""The logprob of a padded (token 0) cell of a protobuf top-k table: no entry."""
