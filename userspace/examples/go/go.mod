module kchan/examples

go 1.19
