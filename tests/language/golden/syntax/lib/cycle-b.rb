# Included by include-cycle.rb; includes it back.
include "../include-cycle.rb"
