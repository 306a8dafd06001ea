# included by duplicate-declaration.rb
var app = "shared"
