package api

import _ "example.com/scratch/gateway/ok"
