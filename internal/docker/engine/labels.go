package engine

import "errors"

// composeProjectLabel is compose's own project label; resources made by a
// plain `docker compose` carry only this one.
const composeProjectLabel = "com.docker.compose.project"

// errNeverBuilt is why an image the stack builds itself is missing.
var errNeverBuilt = errors.New("it has not been built yet, or was removed")
