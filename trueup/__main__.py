from trueup.launch import console

console()
