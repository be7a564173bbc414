from trueup.cli import console

console()
