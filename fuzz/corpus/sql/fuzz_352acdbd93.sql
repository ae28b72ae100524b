SLECT(lag(temp) OVER (PA
ETER p OVAR (PA
E l