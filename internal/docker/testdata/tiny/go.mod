module example.com/tiny

go 1.27.3
