module github.com/quickscale/quickscale

go 1.27.3
