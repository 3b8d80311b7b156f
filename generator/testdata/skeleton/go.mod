module example.com/skeleton

go 1.27.3
